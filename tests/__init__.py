"""molgen test-suite (a package, so that ``tests.nn...`` helpers resolve here and not to a site-packages ``tests``)."""
