"""Qt-free application layer shared by the window and the command line."""
