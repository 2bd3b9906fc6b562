"""DreamDeck's real-time core. Qt-free by rule (a test enforces it)."""
