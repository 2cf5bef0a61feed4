module bench.example/cold258

go 1.21
