"""MegaBackup on real filesystems: a Samba share, NTFS and exFAT drives (world.py)."""
