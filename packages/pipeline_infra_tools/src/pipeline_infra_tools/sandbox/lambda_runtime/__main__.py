from pipeline_infra_tools.sandbox.lambda_runtime.process import main

raise SystemExit(main())
