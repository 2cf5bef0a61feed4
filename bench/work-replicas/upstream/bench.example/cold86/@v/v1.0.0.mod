module bench.example/cold86

go 1.21
