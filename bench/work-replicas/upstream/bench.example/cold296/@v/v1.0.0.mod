module bench.example/cold296

go 1.21
