module bench.example/cold163

go 1.21
