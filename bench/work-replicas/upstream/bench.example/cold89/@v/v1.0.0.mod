module bench.example/cold89

go 1.21
