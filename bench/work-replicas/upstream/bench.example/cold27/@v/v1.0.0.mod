module bench.example/cold27

go 1.21
