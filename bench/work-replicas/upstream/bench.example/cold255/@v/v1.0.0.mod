module bench.example/cold255

go 1.21
