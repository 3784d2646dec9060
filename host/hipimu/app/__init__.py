"""The applications: the ``hipimu`` command line and the live window."""
