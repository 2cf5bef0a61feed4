module bench.example/cold23

go 1.21
