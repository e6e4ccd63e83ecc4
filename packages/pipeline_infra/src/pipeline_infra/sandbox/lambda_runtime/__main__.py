from pipeline_infra.sandbox.lambda_runtime.process import main

raise SystemExit(main())
