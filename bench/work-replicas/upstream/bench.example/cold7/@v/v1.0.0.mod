module bench.example/cold7

go 1.21
