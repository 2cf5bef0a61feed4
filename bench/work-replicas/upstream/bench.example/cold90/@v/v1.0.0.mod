module bench.example/cold90

go 1.21
