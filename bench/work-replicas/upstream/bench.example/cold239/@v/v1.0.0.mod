module bench.example/cold239

go 1.21
