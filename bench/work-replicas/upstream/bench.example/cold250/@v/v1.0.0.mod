module bench.example/cold250

go 1.21
