module bench.example/cold45

go 1.21
