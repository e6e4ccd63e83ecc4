"""Run layer programs, each in its own process with the library version its project pins.

`child` is what runs inside that process; it imports nothing of the library but what the program imports.
"""
