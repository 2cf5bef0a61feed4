module bench.example/cold88

go 1.21
