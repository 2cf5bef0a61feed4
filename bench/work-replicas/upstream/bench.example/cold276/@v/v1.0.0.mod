module bench.example/cold276

go 1.21
