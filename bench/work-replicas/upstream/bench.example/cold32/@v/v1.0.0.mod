module bench.example/cold32

go 1.21
