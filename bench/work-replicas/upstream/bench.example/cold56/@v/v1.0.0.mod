module bench.example/cold56

go 1.21
