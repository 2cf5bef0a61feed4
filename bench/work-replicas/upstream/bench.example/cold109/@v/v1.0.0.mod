module bench.example/cold109

go 1.21
