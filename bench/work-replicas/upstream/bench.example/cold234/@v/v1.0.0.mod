module bench.example/cold234

go 1.21
