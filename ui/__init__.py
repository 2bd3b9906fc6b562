"""DreamDeck's PySide6 user interface (issue 5). Engine code never imports from here."""
