"""The real-window tray test and its helpers."""
