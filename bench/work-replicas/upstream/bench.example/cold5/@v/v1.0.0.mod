module bench.example/cold5

go 1.21
