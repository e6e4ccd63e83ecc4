from pipeline_infra.cli import main

raise SystemExit(main())
