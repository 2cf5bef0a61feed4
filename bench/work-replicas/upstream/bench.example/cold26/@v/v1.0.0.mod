module bench.example/cold26

go 1.21
