module bench.example/cold233

go 1.21
