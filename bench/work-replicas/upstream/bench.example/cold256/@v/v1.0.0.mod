module bench.example/cold256

go 1.21
