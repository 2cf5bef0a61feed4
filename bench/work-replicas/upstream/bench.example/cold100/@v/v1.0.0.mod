module bench.example/cold100

go 1.21
