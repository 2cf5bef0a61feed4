module bench.example/cold43

go 1.21
