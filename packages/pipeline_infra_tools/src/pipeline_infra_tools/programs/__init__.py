"""Run layer programs, each in its own process with the library version its project pins.

`runner` chooses how (the fork server of `fork_client`, `fork_server` and `fork_worker`, or the process
launcher) and runs many programs in dependency order; `request` is what both take and how they report; `child`
is what runs inside a program's process, and, like the server and its workers, imports nothing of the library
but the pinned version the program is run with.
"""
