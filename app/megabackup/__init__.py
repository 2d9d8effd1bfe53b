"""MegaBackup: backs up and syncs one person's files across desktop, network share and USB drive."""

__version__ = "0.1.0"
APP_NAME = "MegaBackup"
