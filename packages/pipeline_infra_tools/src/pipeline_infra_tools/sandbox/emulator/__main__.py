"""`python -m pipeline_infra_tools.sandbox.emulator`: the patched moto server."""

from pipeline_infra_tools.sandbox.emulator import main

main()
