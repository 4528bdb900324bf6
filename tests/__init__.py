"""autocoder's tests and the offline test bench (GitHub emulator, scripted model servers)."""
