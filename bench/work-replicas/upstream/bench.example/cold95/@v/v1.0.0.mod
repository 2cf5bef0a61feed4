module bench.example/cold95

go 1.21
