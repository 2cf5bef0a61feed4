module bench.example/cold153

go 1.21
