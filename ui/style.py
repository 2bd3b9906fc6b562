"""The console's look: one dark style sheet for every panel."""

STYLE = """
QWidget { background: #1d1d22; color: #e6e6e6; font-size: 13px; }
QGroupBox { border: 1px solid #3a3a44; border-radius: 4px; margin-top: 14px; padding-top: 6px; font-weight: bold; }
QGroupBox::title { subcontrol-origin: margin; left: 8px; padding: 0 4px; color: #9fc3ff; }
QLineEdit, QSpinBox, QComboBox, QListWidget { background: #111116; border: 1px solid #44444f; padding: 3px; }
QTabBar::tab { background: #26262d; padding: 6px 14px; } QTabBar::tab:selected { background: #3a3a48; }
QPushButton { background: #30303a; border: 1px solid #50505c; padding: 5px 10px; border-radius: 3px; }
QPushButton:checked { background: #c02020; }
QCheckBox::indicator { width: 15px; height: 15px; border: 2px solid #8a8a98; border-radius: 3px; background: #111116; }
QCheckBox::indicator:checked { background: #4a9eff; border-color: #9fc3ff; }
"""
