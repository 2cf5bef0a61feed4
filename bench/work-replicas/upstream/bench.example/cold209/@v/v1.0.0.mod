module bench.example/cold209

go 1.21
