module bench.example/cold40

go 1.21
