module bench.example/cold132

go 1.21
