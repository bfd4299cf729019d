"""Protocol core: pure value types and functions, no I/O, no clock (time is passed in)."""
