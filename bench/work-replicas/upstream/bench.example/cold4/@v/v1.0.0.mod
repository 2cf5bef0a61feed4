module bench.example/cold4

go 1.21
