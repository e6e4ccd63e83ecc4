"""The sandbox's local Lambda runtime: what AWS would deliver to the functions, delivered to local handlers.

Kept free of imports so each function's worker process starts with nothing but its own code loaded;
use `service.LambdaRuntime` and `process.start/stop` directly.
"""
