module bench.example/cold178

go 1.21
