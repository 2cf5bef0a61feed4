module bench.example/cold49

go 1.21
