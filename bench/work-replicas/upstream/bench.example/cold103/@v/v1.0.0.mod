module bench.example/cold103

go 1.21
