module bench.example/cold135

go 1.21
